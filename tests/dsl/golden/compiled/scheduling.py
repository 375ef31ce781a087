def filter_0(ctx, v_pod, v_node):
    _now = ctx.now
    if _r.truthy(_r.eq(_r.path(v_node, ('spec', 'unschedulable')), True)):
        return 'node(s) were unschedulable'
    return None
def filter_1(ctx, v_pod, v_node):
    _now = ctx.now
    v_beat = _r.attr(_b_condition(v_node, 'Ready'), 'lastHeartbeatTime')
    if _r.truthy((v_beat is None)):
        return 'node(s) never reported'
    elif _r.truthy(_r.lt(_r.add(_b_time(v_beat), 40.0), _now)):
        return 'node(s) are stale'
    return None
def score_2(ctx, v_pod, v_node):
    _now = ctx.now
    v_limit = _r.once(ctx, _c1, lambda: _b_int(_b_default(_r.path(ctx.lookup(_c0, 'kube-system', 'limits'), ('data', 'pods')), '110')))
    return _r.sub(v_limit, _b_count(ctx.query(_c2, (_r.attr(v_node, 'name'), ), (lambda v_it: _r.eq(_r.path(v_it, ('spec', 'nodeName')), _r.attr(v_node, 'name'))))))
    return None
# _c0: ConfigMap
# _c1: let limit (line 15), once per attempt
# _c2: query Pod by node
