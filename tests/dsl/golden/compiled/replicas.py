def rule_0(ctx, v_rs):
    _now = ctx.now
    if not _r.truthy((_r.path(v_rs, ('spec', 'replicas')) is not None)):
        ctx.dormant = 1
        return None
    v_pods = ctx.query(_c0, (_r.attr(v_rs, 'namespace'), v_rs, ), (lambda v_it: (_r.truthy(_b_controlled_by(v_it, v_rs)) and (not _b_deleting(v_it)))))
    v_diff = _r.sub(_r.path(v_rs, ('spec', 'replicas')), _b_count(v_pods))
    if _r.truthy(_r.gt(v_diff, 0)):
        ctx.create(_c1, v_diff, _r.path(v_rs, ('spec', 'template')), {'name_prefix': _r.add(_r.attr(v_rs, 'name'), '-'), 'owner': v_rs}, 11)
    elif _r.truthy(_r.lt(v_diff, 0)):
        for v_p in _r.iterate(_b_take(_b_sort(v_pods, (lambda v_it: [(_r.path(v_it, ('spec', 'nodeName')) is not None), _r.path(v_it, ('metadata', 'creationTimestamp'))])), _r.neg(v_diff))):
            ctx.delete(v_p, {'grace_period': 0}, 14)
    else:
        ctx.requeue(30.0)
    ctx.set(v_rs, ('status', 'replicas', ), _b_count(v_pods), 17)
    ctx.set(v_rs, ('status', 'readyReplicas', ), _b_count(v_pods, (lambda v_it: _b_condition_true(v_it, 'Ready'))), 18)
    return None
# _c0: query Pod by ns, owner
# _c1: Pod
