from django.apps import AppConfig


class NodesConfig(AppConfig):
    name = "nodes"
    verbose_name = "Cloud inventory"

    def ready(self):
        from nodes import checks  # noqa: F401  (registers the system checks)
