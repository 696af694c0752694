"""The user's own page: who am I, and the API token."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from nodes.views.instances import quota_of


def account(request):
    token = Token.objects.filter(user=request.user).first()
    return render(request, "nodes/account.html", {"token": token, "quota": quota_of(request.user)})


@require_POST
def account_token(request):
    """Create (or replace) the API token; its value is shown once, on this response."""
    Token.objects.filter(user=request.user).delete()
    token = Token.objects.create(user=request.user)
    messages.success(request, "New API token created. Copy it now: it is not shown again.")
    context = {"token": token, "new_key": token.key, "quota": quota_of(request.user)}
    return render(request, "nodes/account.html", context)


@require_POST
def account_token_delete(request):
    Token.objects.filter(user=request.user).delete()
    messages.info(request, "API token revoked.")
    return redirect("kumo:account")
