import base64

username = flow.getVariable("request.formparam.client_id")
password = flow.getVariable("request.formparam.client_secret")
flow.setVariable("authorizationParam", basic(username, password))
