"""Reports: console table, JUnit XML, GitHub step summary/annotations/outputs."""
