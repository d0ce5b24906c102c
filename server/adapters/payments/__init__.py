"""Payment gateways: what charges a buyer's card (`gateway.PaymentGateway`), and the built-in
test gateway (`test_gateway.TestGateway`) that tests and the demo use."""
