"""What the model saw and answered, and the labels that came later, kept in the model bucket.

`layout` names the objects and their records, `writer` uploads them off the request path,
`join` turns labelled captures back into training rows. Nothing here imports the web
framework: the serving app feeds the writer, the training side reads through `join`.
"""
