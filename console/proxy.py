"""The console proxy's entry point: `python -m console.proxy` (`make run` starts it)."""

import os


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    import django

    django.setup()
    from nodes.consoleproxy import serve

    serve()


if __name__ == "__main__":
    main()
