from django.apps import AppConfig


class KernelConfig(AppConfig):
    name = "hocba.kernel"
    label = "kernel"
    verbose_name = "HọcBạ kernel"
