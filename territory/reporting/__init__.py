"""What leaves the app: the assignment export, the self-contained HTML report, the files that write
an alignment back to the CRM, territory colours and the escaping of data text for charts and Markdown.

Imports data, engine and planning; the UI imports colours and text escaping from here.
"""
