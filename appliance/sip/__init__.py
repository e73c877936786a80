"""SIP: the only room that imports pjsua2 (endpoint, accounts, calls, media ports, phone)."""
