"""Our LTI 1.3 adapter around pylti1p3.

Public surface used by the rest of the tool:

- ``keys.active_signing_key(db) -> (kid, private_key_pem)``, ``keys.public_jwks(db)``, ``keys.rotate(db)``
- ``registrations``: platforms and deployments in the database, and ``DbToolConf`` (pylti1p3's
  ``ToolConfAbstract`` backed by our tables, for pylti1p3's service connector)
- ``login.start_login(...)`` and ``accept.accept_launch(...)``: the OIDC login and the checked, recorded
  launch (``launch.verify_launch`` in a transaction; on PostgreSQL first ``launch_statement``: one statement)
- ``deep_linking_session.current_deep_link()``: the verified deep-linking settings of this session
- ``dynamic_registration.register(...)`` and ``canvas.developer_key_config(...)``
- ``roles.map_roles(lti_roles)``

Why we verify the id_token ourselves instead of with pylti1p3's ``MessageLaunch``:
docs/decisions/0001-lti-adapter.md.
"""
