"""The model server's routes, one router per concern; `app.serving.api` mounts them."""
