"""A kernel restart in JupyterLab (through the kernels REST API), then the notebook run again: the new
view draws and edits again on the new kernel."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest

from tests.browser.conftest import PageWatch, kernel_run, sel

pytestmark = pytest.mark.browser

FRESH_VIEW = f'{sel("attention-view")}[data-ready="true"]:not([data-before-restart])'


def test_restart_then_rerun_draws_the_view_again(
    view_in_lab: Callable[[str, str, str], AbstractContextManager[PageWatch]],
) -> None:
    code = "from deepseek_viz.widgets import AttentionView\nview = AttentionView(model, text='before the restart')\nview"
    with view_in_lab("kernel_restart", code, "attention-view") as watch:
        page = watch.page
        page.eval_on_selector(sel("attention-view"), "root => { root.dataset.beforeRestart = 'true'; }")
        old_kernel = page.evaluate(
            """async () => {
                const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
                await kernel.restart(); // POST /api/kernels/<id>/restart, then waits for the new kernel
                return kernel.id;
            }"""
        )
        assert kernel_run(watch, "print('model' in globals())").strip() == "False"  # a fresh kernel
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        page.wait_for_selector(FRESH_VIEW)
        assert page.text_content(f"{FRESH_VIEW} {sel('status')}") == "ready"
        page.fill(f"{FRESH_VIEW} {sel('text-input')}", "after the restart")
        page.wait_for_function(
            "selector => document.querySelector(selector)?.textContent.endsWith('after the restart')",
            arg=f"{FRESH_VIEW} {sel('token-view')}",
        )
        assert kernel_run(watch, "print(view.text)").strip() == "after the restart"
        assert page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.id"
        ) == (old_kernel)  # restarted in place, not replaced
        assert page.locator(sel("attention-view")).count() == 1  # the old view went with its output
        assert watch.dialogs == []
        assert watch.errors == []
