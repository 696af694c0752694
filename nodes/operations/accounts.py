"""Accounts: what admins do to people, from the users' pages and the API alike."""

from django.utils.crypto import get_random_string

from nodes import consoles
from nodes.operations.errors import Refused

GENERATED_PASSWORD_LENGTH = 16


def create_account(form):
    """(the account of a valid NewUserForm, the password generated for it, or None when the
    form gave one): a generated password is shown once, for the admin to pass on."""
    person = form.save(commit=False)
    given = form.cleaned_data["password"]
    generated = None if given else get_random_string(GENERATED_PASSWORD_LENGTH)
    person.set_password(given or generated)
    person.save()
    return person, generated


def check_own_role(admin, person, is_staff):
    if person == admin and not is_staff:
        raise Refused("You cannot take away your own admin role.", field="is_staff")


def set_active(admin, person, active):
    """Deactivate (the account can no longer log in or use its API token, and its consoles
    close) or reactivate an account."""
    if person == admin:
        raise Refused("You cannot deactivate your own account.", field="is_active")
    person.is_active = active
    person.save(update_fields=["is_active"])
    if not active:
        consoles.revoke_user(person, "The account was deactivated.")
