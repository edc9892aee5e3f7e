"""Reporting: spreadsheet exports, the HTML report and the files that write an alignment back to the CRM."""
