"""Hooks, after Eucalyptus's nc-hooks: every executable file in KUMO_HOOKS_DIR runs, sorted
by name, as `HOOK EVENT PATH`. A non-zero exit aborts the step with the hook's stderr; a
hook that outlives KUMO_HOOK_TIMEOUT is killed."""

import os
import signal
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
        returncode, stderr = run_hook(hook, event, path)
        if returncode != 0:
            detail = stderr.strip() or f"exit status {returncode}"
            raise HookFailed(f"Hook {hook.name} ({event}) failed: {detail}")


def run_hook(hook, event, path):
    """(exit status, stderr) of one hook. It runs in a session of its own, so that at the
    timeout whatever it started dies with it."""
    try:
        process = subprocess.Popen(
            [str(hook), event, str(path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
    except OSError as error:
        raise HookFailed(f"Hook {hook.name} ({event}) could not run: {error}") from error
    with process:
        try:
            _, stderr = process.communicate(timeout=settings.KUMO_HOOK_TIMEOUT)
        except subprocess.TimeoutExpired as error:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise HookFailed(
                f"Hook {hook.name} ({event}) did not finish within "
                f"{settings.KUMO_HOOK_TIMEOUT} s and was killed."
            ) from error
    return process.returncode, stderr
