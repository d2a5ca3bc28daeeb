"""Records that leave the tool: certificates, Open Badges 3.0 credentials, licensure delivery and exports."""
