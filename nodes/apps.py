from django.apps import AppConfig


class NodesConfig(AppConfig):
    name = "nodes"
    verbose_name = "Cloud inventory"

    def ready(self):
        from nodes import checks, lockout  # noqa: F401  (register the checks and receivers)
