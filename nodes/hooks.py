"""Hooks, after Eucalyptus's nc-hooks: every executable file in KUMO_HOOKS_DIR runs, sorted
by name, as `HOOK EVENT PATH`. A non-zero exit aborts the step with the hook's stderr; a
hook that outlives KUMO_HOOK_TIMEOUT is killed."""

import os
import subprocess
from pathlib import Path

from django.conf import settings


class HookFailed(Exception):
    pass


def hooks():
    folder = settings.KUMO_HOOKS_DIR
    if not folder or not Path(folder).is_dir():
        return []
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and os.access(p, os.X_OK))


def run_hooks(event, path):
    """Run every hook for event with path; raise HookFailed at the first that fails."""
    for hook in hooks():
        try:
            result = subprocess.run(
                [str(hook), event, str(path)],
                capture_output=True,
                text=True,
                timeout=settings.KUMO_HOOK_TIMEOUT,
            )
        except subprocess.TimeoutExpired as error:
            raise HookFailed(
                f"Hook {hook.name} ({event}) did not finish within "
                f"{settings.KUMO_HOOK_TIMEOUT} s and was killed."
            ) from error
        except OSError as error:
            raise HookFailed(f"Hook {hook.name} ({event}) could not run: {error}") from error
        if result.returncode != 0:
            detail = result.stderr.strip() or f"exit status {result.returncode}"
            raise HookFailed(f"Hook {hook.name} ({event}) failed: {detail}")
