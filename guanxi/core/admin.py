from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import ApiToken, CustomField, Role, Tag, Team, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = BaseUserAdmin.fieldsets + (("Guanxi", {"fields": ("display_name", "language", "timezone", "team",
                                                                  "role")}),)
    list_display = ("username", "display_name", "team", "role", "is_active", "is_staff")


admin.site.register(Team)
admin.site.register(Role)
admin.site.register(Tag)
admin.site.register(CustomField)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at")
