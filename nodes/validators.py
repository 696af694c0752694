"""Field validators shared by models, forms and the API."""

import re
from urllib.parse import parse_qsl, urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from nodes.xmltext import incompatibility

# "new" would be hidden by the …/new/ page of its kind.
validate_name = RegexValidator(
    r"^(?!new$)[A-Za-z0-9][A-Za-z0-9._-]{0,62}$",
    "Use letters, digits, dots, dashes and underscores, starting with a letter or digit "
    "(and not the word new).",
)


def validate_xml_text(value):
    """Text that may reach instance.xml, a stylesheet or a domain: only what XML can carry."""
    reason = incompatibility(value)
    if reason:
        raise ValidationError(reason, code="xml_incompatible")


LIBVIRT_DRIVERS = {"qemu", "xen", "test", "lxc", "ch", "bhyve", "vz"}
LIBVIRT_TRANSPORTS = {"", "unix", "tls", "tcp", "ssh", "libssh", "libssh2", "ext"}
REMOTE_TRANSPORTS = {"tls", "tcp", "ssh", "libssh", "libssh2"}


def validate_libvirt_uri(uri):
    """Check the shape of a libvirt connection URI without opening it.

    https://libvirt.org/uri.html: driver[+transport]://[user@][host][:port]/path[?params]
    """
    if any(ch.isspace() for ch in uri):
        raise ValidationError("A libvirt URI has no spaces.")
    parts = urlsplit(uri)
    driver, _, transport = parts.scheme.partition("+")
    if driver not in LIBVIRT_DRIVERS:
        raise ValidationError(
            f"Unknown libvirt driver {driver or '(none)'!r}: the URI starts with one of "
            f"{', '.join(sorted(LIBVIRT_DRIVERS))}, as in qemu:///system."
        )
    if transport not in LIBVIRT_TRANSPORTS:
        raise ValidationError(
            f"Unknown transport {transport!r}: use one of "
            f"{', '.join(sorted(t for t in LIBVIRT_TRANSPORTS if t))}, as in qemu+ssh://host/system."
        )
    if transport in REMOTE_TRANSPORTS and not parts.hostname:
        raise ValidationError(
            f"A {transport} URI names the host, as in {driver}+{transport}://host/system."
        )
    if not re.fullmatch(r"/[A-Za-z0-9._/-]*", parts.path or ""):
        raise ValidationError("The URI needs a path such as /system, /session or /default.")
    try:
        parse_qsl(parts.query, strict_parsing=True) if parts.query else None
        _ = parts.port
    except ValueError as error:
        raise ValidationError(f"The URI is malformed: {error}.") from error
