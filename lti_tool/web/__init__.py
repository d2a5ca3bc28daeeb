"""Flask blueprints by audience. Views parse the request, call one service, render."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import converters, errors

    converters.register(app)
    from .health import bp as health_bp

    errors.register(app)
    from . import security_headers

    security_headers.init_app(app)
    from markupsafe import Markup

    from . import auth, fragments

    app.jinja_env.globals.update(
        url=auth.url,
        token_field=lambda: Markup(auth.token_field()),
        current_actor=auth.current_actor_or_none,
        static_url=auth.static_url,
        # one wording of a stack's rule for learner, designer and assessor pages (kept per stack)
        stack_rule=fragments.stack_rule,
        # the learner's progress page's repeated fragments (learner/_macros.html delegates to them)
        state_badge_html=fragments.state_badge,
        hours_text=fragments.hours,
        stack_bar_html=fragments.stack_bar,
        stack_ceus_html=fragments.stack_ceus,
        credential_rows_html=fragments.credential_rows,
    )
    app.register_blueprint(health_bp)
    from . import home

    home.init_app(app)
    from .learner import bp as learner_bp

    app.register_blueprint(learner_bp)
    from .assessor import bp as assessor_bp

    app.register_blueprint(assessor_bp)
    from .designer import bp as designer_bp

    app.register_blueprint(designer_bp)
    from .map_versions import bp as map_versions_bp

    app.register_blueprint(map_versions_bp)
    from .records import bp as records_bp

    app.register_blueprint(records_bp)
    from . import dev_platform, lti_views

    lti_views.init_app(app)
    dev_platform.init_app(app)
    from . import deep_linking, dev_platform_services

    deep_linking.init_app(app)
    dev_platform_services.init_app(app)
    from . import dev_mailbox

    dev_mailbox.init_app(app)
    from . import office_api

    office_api.init_app(app)
