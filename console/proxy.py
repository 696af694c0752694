"""The console proxy's entry point: `python -m console.proxy` (`make run` starts it)."""

import os


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    import django

    django.setup()
    from nodes.checks import run_checks_or_exit
    from nodes.consoles.proxy import serve

    run_checks_or_exit()

    serve()


if __name__ == "__main__":
    main()
