"""Pages for customization rules: the chain, the library, the editor, review, history.

Every change to the chain (save, enable, disable, delete, roll back, reset) is reviewed
first: the first POST shows which live instances it changes or breaks; the change is made
when the admin confirms (and explicitly accepts breaking instances, if it does).
"""

import copy
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from nodes.domainxml import library, pipeline, review
from nodes.forms import RuleForm
from nodes.middleware import allow_style_attributes
from nodes.models import Image, Instance, InstanceType, Node, Rule
from nodes.models.rules import unified_diff


def admins_only(view):
    """Rules shape every instance of the cloud: only admins see or change them."""

    @wraps(view)
    def checked(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("Only admins can see and change customization rules.")
        return view(request, *args, **kwargs)

    return checked


def visible_rules(request):
    return Rule.objects.for_user(request.user)


@admins_only
def rule_list(request):
    rules = (
        visible_rules(request)
        .select_related("cluster", "node", "image", "instance_type", "owner")
        .select_related("current")
    )
    by_slug = {rule.library_slug: rule for rule in rules if rule.library_slug}
    entries = [(entry, by_slug.get(entry.slug)) for entry in library.LIBRARY]
    return render(request, "nodes/rule_list.html", {"rules": rules, "library": entries})


def sample_choices():
    return {
        "instances": Instance.objects.filter(node__isnull=False).exclude(vm_state="deleted")[:200],
        "images": Image.objects.order_by("kind", "name"),
        "instance_types": InstanceType.objects.all(),
        "nodes": Node.objects.all(),
    }


@allow_style_attributes
def editor(request, form, rule=None, checked=None):
    return render(
        request,
        "nodes/rule_editor.html",
        {
            "form": form,
            "rule": rule,
            "stage_name": rule.name if rule else "New rule",
            "review": checked,
            **sample_choices(),
        },
    )


def is_confirmed(request, checked):
    """The admin confirmed the reviewed change, accepting the instances it breaks, if any."""
    return "confirm" in request.POST and (not checked.broken or "accept_failures" in request.POST)


def review_then(request, override, title, apply):
    """The review page of a change to the chain; apply() it (a response) once confirmed."""
    checked = review.review(override, request.user)
    if is_confirmed(request, checked):
        return apply()
    context = {"title": title, "review": checked, "rule": override.rule}
    return render(request, "nodes/rule_review.html", context)


@admins_only
def rule_edit(request, pk=None):
    """GET: the editor. POST: the review (errors, or the impact on live instances), then the
    save when the admin confirms."""
    rule = get_object_or_404(visible_rules(request), pk=pk) if pk else None
    if request.method != "POST":
        initial = {"text": rule.current.text} if rule else {"text": pipeline.BLANK_RULE}
        return editor(request, RuleForm(instance=rule, initial=initial), rule)
    form = RuleForm(request.POST, instance=copy.copy(rule) if rule else None)
    if not form.is_valid():
        return editor(request, form, rule)
    checked = review.review(
        pipeline.Override(form.instance, form.cleaned_data["text"]), request.user
    )
    if not is_confirmed(request, checked):
        return editor(request, form, rule, checked)
    saved = form.save(request.user)
    messages.success(request, f"Saved {saved.name} as revision r{saved.current.number}.")
    return redirect(saved)


@require_POST
@admins_only
def rule_enable_library(request, slug):
    """Enable a built-in rule with one click (creating it from the library the first time)."""
    try:
        entry = library.get(slug)
    except KeyError:
        raise Http404(f"No rule {slug!r} in the library.") from None
    rule = Rule.objects.filter(library_slug=slug).select_related("current").first()
    if rule is not None:
        return set_enabled(request, rule, True)
    taken = f"A rule named {entry.title} exists already: rename it first."
    if Rule.objects.filter(name=entry.title).exists():
        messages.error(request, taken)
        return redirect("kumo:rule_list")
    new = Rule.from_library(entry)

    def create():
        try:
            new.add_from_library(request.user)
        except IntegrityError:  # the same rule, enabled by a request that overtook this one
            messages.error(request, taken)
        else:
            messages.success(request, f"Enabled {new.name}.")
        return redirect("kumo:rule_list")

    return review_then(request, pipeline.Override(new, entry.text), f"Enable {new.name}", create)


def set_enabled(request, rule, enabled):
    changed = copy.copy(rule)
    changed.enabled = enabled

    def apply():
        changed.save(update_fields=["enabled"])
        messages.success(request, f"{'Enabled' if enabled else 'Disabled'} {rule.name}.")
        return redirect("kumo:rule_list")

    title = f"{'Enable' if enabled else 'Disable'} {rule.name}"
    override = pipeline.Override(changed, rule.current.text)  # disabled: left out of the chain
    return review_then(request, override, title, apply)


@require_POST
@admins_only
def rule_enable(request, pk, enabled):
    """Enable or disable a rule (the state is in the URL, so that a confirmation applies
    exactly what was reviewed)."""
    rule = get_object_or_404(visible_rules(request).select_related("current"), pk=pk)
    if rule.is_default:
        raise Http404("The default stylesheet is always applied.")
    return set_enabled(request, rule, enabled)


@require_POST
@admins_only
def rule_delete(request, pk):
    rule = get_object_or_404(visible_rules(request), pk=pk, is_default=False)

    def apply():
        rule.delete()
        messages.success(request, f"Deleted {rule.name}.")
        return redirect("kumo:rule_list")

    override = pipeline.Override(rule, without=True)
    return review_then(request, override, f"Delete {rule.name} and its history", apply)


def revise_after_review(request, rule, text, message, title):
    """Review rule getting text as its next revision; make it once confirmed."""

    def apply():
        revision = rule.revise(text, request.user, message)
        messages.success(request, f"{rule.name} is now r{revision.number}: {message}.")
        return redirect(rule)

    return review_then(request, pipeline.Override(rule, text), title, apply)


@require_POST
@admins_only
def rule_reset(request, pk):
    """Reset the default stylesheet to the one shipped with Kumo (as a new revision)."""
    rule = get_object_or_404(visible_rules(request), pk=pk, is_default=True)
    title = "Reset the default stylesheet to Kumo's shipped one"
    return revise_after_review(
        request, rule, pipeline.shipped_default_text(), "Reset to shipped", title
    )


@admins_only
def rule_history(request, pk):
    """The revisions, a diff between any two (?from=&to=), and rollback."""
    rule = get_object_or_404(visible_rules(request).select_related("current"), pk=pk)
    revisions = list(rule.revisions.select_related("author"))
    by_number = {str(revision.number): revision for revision in revisions}
    newer = by_number.get(request.GET.get("to")) or rule.current
    older = by_number.get(request.GET.get("from"))
    if older is None and len(revisions) > 1:
        older = revisions[1] if newer == revisions[0] else None
    difference = unified_diff(
        older.text if older else "",
        newer.text,
        f"r{older.number}" if older else "empty",
        f"r{newer.number}",
    )
    return render(
        request,
        "nodes/rule_history.html",
        {"rule": rule, "revisions": revisions, "older": older, "newer": newer, "diff": difference},
    )


@require_POST
@admins_only
def rule_rollback(request, pk, number):
    rule = get_object_or_404(visible_rules(request), pk=pk)
    old = get_object_or_404(rule.revisions, number=number)
    message = f"Rolled back to r{old.number}"
    return revise_after_review(
        request, rule, old.text, message, f"Roll {rule.name} back to r{old.number}"
    )
