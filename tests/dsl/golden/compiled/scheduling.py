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
    return _r.sub(_r.use(ctx, _c1, v_limit), _b_count(ctx.query(_c2, (_r.attr(v_node, 'name'), ), (lambda v_it: _r.eq(_r.path(v_it, ('spec', 'nodeName')), _r.attr(v_node, 'name'))))))
    return None
def filter_3(ctx, v_pod, v_node):
    _now = ctx.now
    v_wanted = _r.once(ctx, _c3, lambda: _r.path(v_pod, ('metadata', 'labels', 'app')))
    v_placed = _r.once(ctx, _c6, lambda: _r.each(ctx, _c5, _r.iterate(ctx.query(_c4, (v_wanted, ), (lambda v_it: _r.eq(_r.path(v_it, ('metadata', 'labels', 'app')), v_wanted)))), (lambda v_p: (_r.path(v_p, ('spec', 'nodeName'))) if ((_r.path(v_p, ('spec', 'nodeName')) is not None)) else _r.SKIP), ()))
    v_per_node = _r.once(ctx, _c7, lambda: _b_tally(v_placed))
    v_limits = _r.once(ctx, _c8, lambda: [1, 2])
    if _r.truthy((_r.use_in(ctx, _c7, v_per_node, (), _r.path(v_node, ('metadata', 'name'))) and _r.gt(_r.use_at(ctx, _c7, v_per_node, (_r.path(v_node, ('metadata', 'name')), )), _r.use_at(ctx, _c8, v_limits, (0, ))))):
        return 'node(s) are full'
    if _r.truthy(_r.gt(_b_count(_r.use_all(ctx, (_c3, ), ctx.query(_c9, (_r.path(v_node, ('metadata', 'name')), _r.use(ctx, _c3, v_wanted), ), (lambda v_it: (_r.eq(_r.path(v_it, ('spec', 'nodeName')), _r.path(v_node, ('metadata', 'name'))) and _r.eq(_r.path(v_it, ('metadata', 'labels', 'app')), v_wanted)))))), 1)):
        return 'node(s) are odd'
    return None
# _c0: ConfigMap
# _c1: let limit (line 15), once per attempt
# _c2: query Pod by node
# _c3: let wanted (line 20), once per attempt
# _c4: query Pod by label[app]
# _c5: for p (line 21:16), kept per element
# _c6: let placed (line 21), once per attempt
# _c7: let per_node (line 22), once per attempt
# _c8: let limits (line 23), once per attempt
# _c9: query Pod by node, label[app]
