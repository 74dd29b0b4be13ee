"""The chapters' experiments: functions that build, train and measure, and return tables.

A chapter calls them with its sizes (:mod:`companion.sizes`) and asserts on what they return; the tests
call them at tiny sizes. One module per chapter's concept.
"""
