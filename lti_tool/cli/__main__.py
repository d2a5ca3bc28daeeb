"""``python -m lti_tool.cli`` is the same as the ``lti-tool`` console script."""

from . import main

main()
