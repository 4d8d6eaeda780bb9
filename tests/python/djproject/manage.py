#!/usr/bin/env python3
"""The minimal Django project of ktest_python_consume_events: manage.py as any service has it."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oe_project.settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
