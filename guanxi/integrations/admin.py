"""Django admin (superusers only) views of the email tables, for inspection. Mailboxes and templates are
managed in the product's settings pages, which audit every change; here they are read-only."""

from django.contrib import admin

from .models import EmailTemplate, Mailbox, OutboundEmail


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdmin):
    list_display = ("subject", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status",)
    search_fields = ("subject", "message_id")
    exclude = ("body_html",)


@admin.register(EmailTemplate)
class EmailTemplateAdmin(ReadOnlyAdmin):
    list_display = ("name", "language", "subject", "updated_at")


@admin.register(Mailbox)
class MailboxAdmin(ReadOnlyAdmin):
    list_display = ("name", "owner", "host", "folder", "enabled", "last_sync_at", "imported_count")
    exclude = ("password_encrypted",)  # never shown, not even encrypted
