"""Celery: the app (tasks run inside a Flask app context) and thin tasks that call services."""
