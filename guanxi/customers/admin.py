from django.contrib import admin

from .models import Account, AccountRelation, Contact


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "credit_code", "lifecycle_stage", "owner", "deleted_at")
    search_fields = ("name", "credit_code")
    raw_id_fields = ("parent", "owner", "created_by")


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("name", "mobile", "email", "owner", "deleted_at")
    search_fields = ("name", "email", "mobile")
    raw_id_fields = ("owner", "created_by")


@admin.register(AccountRelation)
class AccountRelationAdmin(admin.ModelAdmin):
    list_display = ("from_account", "relation_type", "to_account")
    raw_id_fields = ("from_account", "to_account", "created_by")
