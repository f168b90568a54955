"""Objects the tests load by ``package.module:attr``, the way users plug in their own code."""
