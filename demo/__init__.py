"""The scripted demo of the pilot city and its simulations (a busy hour of orders, the warehouse
and store day, a forecast and an allocation). It sits on top of every app; nothing imports it."""
