"""Reviewing through the pages: what each rubric level looks like, panels of reviewers, and claims."""

from __future__ import annotations

from markupsafe import escape

from tests.integration.test_pages_assessor import Scene, _submit, _text, scene

__all__ = ["scene"]


def test_each_level_shows_what_it_looks_like_for_its_criterion(scene: Scene) -> None:
    cred = scene.credential()
    sub_id = _submit(scene)
    page = _text(scene.assessor_client.get(f"/assess/submissions/{sub_id}").data)
    for criterion in cred.rubric.criteria:
        fieldset = page[page.index(f'data-criterion="{criterion.id}"') :]
        fieldset = fieldset[: fieldset.index("</fieldset>")]
        for level in cred.rubric.levels:
            described = str(escape(criterion.describe(level.id)))
            assert described
            assert f'<span class="level-description">{described}</span>' in fieldset
