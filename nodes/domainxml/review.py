"""Before a change to the chain is saved: what it does to the live instances.

Saving a rule, enabling, disabling, rolling back or deleting one, and resetting the default
stylesheet all change the domain XML instances get at their next launch or hard reboot. A
review renders every live instance before and after the change and lists those whose domain
would change and those that would no longer render at all (and, when none of them shows a
failure, a sample instance the rule covers, so that a rule no instance has yet is run once).
Pages and the API show it and ask for an explicit confirmation before breaking instances.
Instances that cannot be rendered before the change either are listed as such, with why; they
never stop the review of the others.
"""

import logging
from dataclasses import dataclass, field

from nodes.choices import VmState
from nodes.domainxml import pipeline
from nodes.domainxml.chain import Problem
from nodes.models import Instance

log = logging.getLogger(__name__)


@dataclass
class Effect:
    """What the change does to one instance (None: a sample instance)."""

    instance: Instance | None
    diff: str = ""
    errors: list = field(default_factory=list)  # the change breaks it: why
    unrenderable: list = field(default_factory=list)  # it cannot be rendered already: why

    @property
    def label(self):
        return self.instance.ec2_id if self.instance else "a sample instance"

    def as_dict(self):
        return {
            "instance": self.instance.ec2_id if self.instance else None,
            "diff": self.diff,
            "errors": [problem.as_dict() for problem in self.errors],
            "unrenderable": [problem.as_dict() for problem in self.unrenderable],
        }


@dataclass
class Review:
    effects: list[Effect]

    @property
    def changed(self):
        return [effect for effect in self.effects if effect.diff]

    @property
    def broken(self):
        return [effect for effect in self.effects if effect.errors]

    @property
    def unrenderable(self):
        return [effect for effect in self.effects if effect.unrenderable]


def live_instances():
    return (
        Instance.objects.exclude(vm_state=VmState.DELETED)
        .filter(node__isnull=False)
        .select_related(*pipeline.RENDERED_RELATED)
        .prefetch_related("addresses")
    )


def effect_on(instance, override, rules):
    """The Effect of override on instance, None when its domain stays the same. An instance
    the saved chain already fails on is not counted as broken by the change: it is listed as
    unrenderable."""
    try:
        variants = [(None, False), (override, False)]
        before, after = pipeline.render_variants(instance, variants, rules)
    except Exception as error:  # one instance's bad data must not stop the review of all
        log.exception("reviewing a rule change on %s", instance.ec2_id)
        problem = Problem(f"Kumo cannot render it ({type(error).__name__}: {error}).")
        return Effect(instance, unrenderable=[problem])
    if after.outcome.errors:
        if before.outcome.errors:
            return Effect(instance, unrenderable=before.outcome.errors)
        return Effect(instance, errors=after.outcome.errors)
    if before.domain_text != after.domain_text:
        return Effect(instance, diff=pipeline.diff(before, after))
    return None


def sample_for(rule, user):
    """A sample instance that the rule's scope covers, or None when there is nothing to build
    one from."""
    node = rule.node
    if node is None and rule.cluster is not None:
        node = rule.cluster.nodes.select_related("cluster").first()
    try:
        return pipeline.sample_instance(
            rule.owner or user, image=rule.image, instance_type=rule.instance_type, node=node
        )
    except LookupError:
        return None


def review(override, user) -> Review:
    """The effects of saving override (a pipeline.Override) on live instances."""
    rules = pipeline.chain_rules()
    effects = [
        effect
        for instance in live_instances()
        if (effect := effect_on(instance, override, rules)) is not None
    ]
    sample = None if override.without else sample_for(override.rule, user)
    if sample is not None and not any(effect.errors for effect in effects):
        after = pipeline.render_variants(sample, [(override, False)], rules)[0]
        if after.outcome.errors:
            effects.append(Effect(None, errors=after.outcome.errors))
    return Review(effects)
