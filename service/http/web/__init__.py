"""The web page for PIs and program officers (server-rendered HTML): its routers (`site`: the
search, the researcher and country views, batch jobs; saved searches and shortlists), the search
form, templates and static files."""
