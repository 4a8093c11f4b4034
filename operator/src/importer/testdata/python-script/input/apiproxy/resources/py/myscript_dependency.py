def basic(username, password):
    return "Basic " + base64.b64encode(("%s:%s" % (username, password)).encode()).decode()
