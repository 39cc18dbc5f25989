from django.apps import AppConfig


class FrameworkConfig(AppConfig):
    name = "guanxi.framework"
    label = "framework"
