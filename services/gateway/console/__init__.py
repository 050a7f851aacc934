"""The browser side of the gateway: consoles for the two CPs, the ISP portal and the
oversight dashboard. Server-rendered pages over the same API, so roles, validation and the
read audit stay in one place."""
