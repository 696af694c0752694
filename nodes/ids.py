"""EC2-style identifiers (i-, r-, emi-, eki-, eri- followed by 8 hex digits), as Eucalyptus
writes them: upper-case hex."""

import secrets

from django.core.validators import RegexValidator

ID_PATTERN = r"^{prefix}-[0-9A-F]{{8}}$"


def ec2_id_validator(*prefixes):
    alternatives = "|".join(prefixes)
    return RegexValidator(
        ID_PATTERN.format(prefix=f"(?:{alternatives})"),
        f"Enter an id such as {prefixes[0]}-1A2B3C4D ({prefixes[0]}- and 8 hex digits).",
    )


def spelled_as_id(text):
    """text as Kumo spells an id (i-4385BBB1), for text typed in any case."""
    kind, dash, number = text.partition("-")
    return f"{kind.lower()}{dash}{number.upper()}"


def new_ec2_id(prefix, model, field="ec2_id"):
    """A fresh id for model that no row has yet; the unique constraint stays the backstop."""
    while True:
        candidate = f"{prefix}-{secrets.token_hex(4).upper()}"
        if not model._default_manager.filter(**{field: candidate}).exists():
            return candidate
