"""Console pages: VNC (noVNC) and serial (xterm.js), and the console output panel. The
pages fetch their one-time tokens from the API themselves, once per (re)connect."""

from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from nodes import operations
from nodes.choices import ConsoleKind
from nodes.consoles import codes
from nodes.middleware import allow_style_attributes
from nodes.models import ConsoleOutput, Instance

OUTPUT_POLLS = 20


def visible_instance(request, key):
    return get_object_or_404(Instance.objects.for_user(request.user), ec2_id=key)


def instance_console(request, key, kind):
    """The VNC or the serial console page of an instance."""
    instance = visible_instance(request, key)
    return render(
        request,
        f"nodes/console_{kind}.html",
        {
            "instance": instance,
            "token_url": reverse("api:instance-console", args=[key]),
            "output_url": reverse("api:instance-console-output", args=[key]),
            "read_only": request.GET.get("watch") == "1",
            "close_codes": codes.for_pages(),
            "title": f"{ConsoleKind(kind).label} console of {instance.ec2_id}",
        },
    )


serial_console = allow_style_attributes(instance_console)


def instance_console_output(request, key):
    """The console output panel of the instance page: an htmx fragment that asks again
    (`?poll=N`, every half second, OUTPUT_POLLS times at most) while a fresh read is under
    way, so that no request waits on a node."""
    instance = visible_instance(request, key)
    poll = request.GET.get("poll", "")
    if poll.isdigit():
        poll = int(poll)
        stored = ConsoleOutput.objects.filter(instance=instance).first()
        waiting = not operations.is_recent(stored) and poll < OUTPUT_POLLS
    else:
        poll = 0
        stored, waiting = operations.console_output(instance)
    context = {"object": instance, "stored": stored, "waiting": waiting, "next_poll": poll + 1}
    context["gave_up"] = poll >= OUTPUT_POLLS and not operations.is_recent(stored)
    return render(request, "nodes/console_output.html", context)
