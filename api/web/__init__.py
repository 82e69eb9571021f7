"""The planners' workbench (issue #13): a web page in Chinese served by ``zhaosheng serve`` itself, on the
service's own routes (`api.web.routes`)."""
