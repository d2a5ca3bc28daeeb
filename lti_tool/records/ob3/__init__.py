"""Open Badges 3.0 credentials signed with Data Integrity ``eddsa-rdfc-2022``; no database, no Flask.

Public functions (the records services call these):

* ``credentials.open_badge_credential(credential_id=, issuer=, recipient=, achievement=, valid_from=,
  status=, awarded_date=, valid_until=)`` -> unsigned ``OpenBadgeCredential`` dict, from the frozen
  values ``Issuer``, ``Recipient.by_id(...)`` / ``Recipient.hashed(email, salt)``, ``Achievement``
  (a stack lists ``EmbeddedCredential``s, CEUs and contact hours), ``StatusEntry``; ``new_salt()``;
  ``achievement_document(achievement, issuer)`` and ``issuer_profile(issuer)`` for pages we serve.
* ``signing.sign(document, private_key, verification_method=, created=)`` -> document with its proof;
  ``signing.verify(signed, resolve_public_key)`` -> bool.
* ``did_key.did_key(public_key)``, ``did_key.verification_method(public_key)``,
  ``did_key.resolve_did_key(did_or_method)`` (a ``resolve_public_key`` for ``verify``),
  ``did_key.public_key_multibase(public_key)``.
* ``https_issuer.profile_document(issuer, public_key_multibases)`` (an https issuer's Profile that is also
  its keys' controller document), ``https_issuer.verification_method(issuer_id, multibase)``,
  ``https_issuer.resolver(issuer_id, is_listed)`` (a ``resolve_public_key`` for ``verify``).
* ``status_list.status_list_credential(credential_id=, issuer=, valid_from=, revoked=)`` -> unsigned
  ``BitstringStatusListCredential``; ``status_list.encode_list``, ``decode_list``, ``is_set``,
  ``revoked_in(credential)``; ``MIN_BITS`` indexes per list.
* ``canonical.canonicalize(document)`` -> RDFC-1.0 N-Quads (contexts from ``contexts/`` via
  ``loader.document_loader``; unknown contexts raise ``UnknownContextError``, documents a safe-mode
  verifier would refuse raise ``UnsafeDocumentError``).
"""
