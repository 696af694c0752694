"""Pages for customization rules: the chain, the library, the editor, review, history."""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from nodes.domainxml import library, pipeline
from nodes.forms import RuleForm
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
    pipeline.default_rule()
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


def editor(request, form, rule=None, impact=None):
    return render(
        request,
        "nodes/rule_editor.html",
        {
            "form": form,
            "rule": rule,
            "stage_name": rule.name if rule else "New rule",
            "impact": impact,
            **sample_choices(),
        },
    )


@admins_only
def rule_edit(request, pk=None):
    """GET: the editor. POST: review (errors, or the impact on live instances), then save
    when the admin confirms."""
    rule = get_object_or_404(visible_rules(request), pk=pk) if pk else None
    if request.method != "POST":
        initial = {"text": rule.current.text} if rule else {"text": pipeline.BLANK_RULE}
        return editor(request, RuleForm(instance=rule, initial=initial), rule)
    form = RuleForm(request.POST, instance=rule)
    if not form.is_valid():
        return editor(request, form, rule)
    if "confirm" not in request.POST:
        changes = pipeline.impact(rule, form.cleaned_data["text"])
        return editor(request, form, rule, impact=changes)
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
    rule = Rule.objects.filter(library_slug=slug).first()
    if rule is None:
        rule = Rule.objects.create(
            name=entry.title, description=entry.explanation, library_slug=slug, enabled=True
        )
        rule.revise(entry.text, request.user, "From Kumo's rule library")
    else:
        rule.enabled = True
        rule.save(update_fields=["enabled"])
    messages.success(request, f"Enabled {rule.name}.")
    return redirect("rule_list")


@require_POST
@admins_only
def rule_toggle(request, pk):
    rule = get_object_or_404(visible_rules(request), pk=pk, is_default=False)
    rule.enabled = not rule.enabled
    rule.save(update_fields=["enabled"])
    messages.success(request, f"{'Enabled' if rule.enabled else 'Disabled'} {rule.name}.")
    return redirect("rule_list")


@require_POST
@admins_only
def rule_delete(request, pk):
    rule = get_object_or_404(visible_rules(request), pk=pk, is_default=False)
    rule.delete()
    messages.success(request, f"Deleted {rule.name}.")
    return redirect("rule_list")


@require_POST
@admins_only
def rule_reset(request, pk):
    """Reset the default stylesheet to the one shipped with Kumo (as a new revision)."""
    rule = get_object_or_404(visible_rules(request), pk=pk, is_default=True)
    revision = rule.revise(pipeline.shipped_default_text(), request.user, "Reset to shipped")
    messages.success(request, f"The default stylesheet is Kumo's shipped one (r{revision.number}).")
    return redirect(rule)


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
    revision = rule.revise(old.text, request.user, f"Rolled back to r{old.number}")
    messages.success(
        request, f"{rule.name} is back to the text of r{old.number} (now r{revision.number})."
    )
    return redirect("rule_history", pk=rule.pk)
