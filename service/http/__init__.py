"""The HTTP layer: the app factory (app.py) over two sibling packages that never import each
other, the JSON API (api/) and the web page (web/), and what both use: dependencies, errors as
HTTP, the bodies they show, limits, metrics and the access log."""
