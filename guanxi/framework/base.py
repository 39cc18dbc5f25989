"""Abstract base models for every business record. No concrete models live in framework/."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .querysets import AllManager, LiveManager
from .validators import validate_no_nul


class Record(models.Model):
    """Timestamps, optimistic-concurrency version, recycle bin and custom field values."""

    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True, editable=False)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, editable=False,
        on_delete=models.SET_NULL, related_name="+",
    )
    custom = models.JSONField(_("custom fields"), default=dict, blank=True, editable=False)

    objects = LiveManager()
    all_objects = AllManager()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"

    @classmethod
    def type_key(cls):
        return f"{cls._meta.app_label}.{cls._meta.model_name}"

    def save(self, *args, **kwargs):
        if getattr(self, "_guanxi_masked", False):
            raise RuntimeError("refusing to save a record whose sensitive fields were masked for display")
        super().save(*args, **kwargs)

    def clean_fields(self, exclude=None):
        errors = {}
        for field in self._meta.concrete_fields:
            if exclude and field.name in exclude:
                continue
            if isinstance(field, (models.CharField, models.TextField)):
                value = getattr(self, field.attname)
                try:
                    validate_no_nul(value)
                    # Django enforces a TextField's max_length only in forms; enforce it for the API too.
                    if isinstance(field, models.TextField) and field.max_length and value:
                        MaxLengthValidator(field.max_length)(value)
                except ValidationError as e:
                    errors[field.name] = e.error_list
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as e:
            for name, errs in e.error_dict.items():
                errors.setdefault(name, []).extend(errs)
        if errors:
            raise ValidationError(errors)

    def clean(self):
        from .customfields import clean_custom_values

        super().clean()
        self.custom = clean_custom_values(type(self), self.custom)


class OwnedMixin(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )

    class Meta:
        abstract = True


class TaggedMixin(models.Model):
    tags = models.ManyToManyField("core.Tag", verbose_name=_("tags"), blank=True, related_name="+")

    class Meta:
        abstract = True


class AddressMixin(models.Model):
    country = models.CharField(_("country"), max_length=2, default="CN", blank=True)
    province = models.CharField(_("province / state"), max_length=64, blank=True)
    city = models.CharField(_("city"), max_length=64, blank=True)
    district = models.CharField(_("district"), max_length=64, blank=True)
    street = models.CharField(_("street address"), max_length=255, blank=True)

    class Meta:
        abstract = True

    @property
    def address_display(self):
        return " ".join(p for p in (self.province, self.city, self.district, self.street) if p)
