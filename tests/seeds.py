"""The course's staged example (seed 002), written by hand as the course writes it: a reference
that tests compare cgraph's graph against. It shares no code with cgraph."""

import math

STAGED = """\
sigy = 1/(1+exp(-y))   # sigmoid in numerator
num = x + sigy         # numerator
sigx = 1/(1+exp(-x))   # sigmoid in denominator
xpy = x + y
xpysqr = xpy^2
den = sigx + xpysqr    # denominator
invden = 1/den
f = num*invden         # done!
"""


def staged_reference(x=3.0, y=-4.0):
    """The seed's forward and hand-written backward pass, line by line (with its += where a value
    fans out). Returns (values by name, gradients by name, {"x": dx, "y": dy})."""
    sigy = 1.0 / (1 + math.exp(-y))
    num = x + sigy
    sigx = 1.0 / (1 + math.exp(-x))
    xpy = x + y
    xpysqr = xpy ** 2
    den = sigx + xpysqr
    invden = 1.0 / den
    f = num * invden
    dnum = invden
    dinvden = num
    dden = (-1.0 / (den ** 2)) * dinvden
    dsigx = (1) * dden
    dxpysqr = (1) * dden
    dxpy = (2 * xpy) * dxpysqr
    dx = (1) * dxpy
    dy = (1) * dxpy
    dx += ((1 - sigx) * sigx) * dsigx
    dx += (1) * dnum
    dsigy = (1) * dnum
    dy += ((1 - sigy) * sigy) * dsigy
    values = dict(sigy=sigy, num=num, sigx=sigx, xpy=xpy, xpysqr=xpysqr, den=den, invden=invden, f=f)
    grads = dict(sigy=dsigy, num=dnum, sigx=dsigx, xpy=dxpy, xpysqr=dxpysqr, den=dden,
                 invden=dinvden, f=1.0)
    return values, grads, {"x": dx, "y": dy}
