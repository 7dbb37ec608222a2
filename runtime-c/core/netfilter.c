/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Netfilter probes: netfilter.hook("HOOK").pf("PF")[.priority(P)]. Each
 * point is a struct nf_hook_ops registered in the initial network
 * namespace with nf_register_net_hook() when the session starts (after
 * the begin probes) and unregistered when it stops; synchronize_net()
 * then waits for hook functions still running on other CPUs, since the
 * kernel calls hooks under rcu_read_lock().
 *
 * The hook function has had one prototype since 4.4,
 *   unsigned int fn(void *priv, struct sk_buff *skb,
 *                   const struct nf_hook_state *state),
 * and nf_register_net_hook() exists since 4.13, so no feature probe is
 * needed between 5.10 and 7.x. The handler's target variables come in
 * slots, as a tracepoint's arguments do: $hooknum, $skb, $in, $out, and
 * the address of the verdict, which starts as NF_ACCEPT and which a
 * guru-mode script may set. Only NF_DROP (with or without an errno in its
 * upper bits), NF_ACCEPT and NF_QUEUE are passed on: NF_STOLEN would leak
 * the packet, NF_REPEAT can loop forever and NF_STOP is no longer a
 * verdict hooks may return, so those count as NF_ACCEPT.
 *
 * A family without hooks in this kernel (ARP or bridging when no module
 * has enabled them) refuses the registration: a warning, as for kprobes.
 */

struct stp_netfilter {
	const struct stp_probe *probe;
	u8 pf;                /* NFPROTO_* */
	unsigned int hooknum; /* NF_INET_*, NF_ARP_*, NF_BR_* */
	int priority;
	bool optional;        /* probe P? : a failed registration is silent */
#ifdef CONFIG_NETFILTER
	struct nf_hook_ops ops;
#endif
	bool registered;
};

#ifdef CONFIG_NETFILTER
/* The slots of c->tp_args the generated code reads (sema's NETFILTER_VARS). */
enum {
	STP_NF_HOOKNUM,
	STP_NF_SKB,
	STP_NF_IN,
	STP_NF_OUT,
	STP_NF_VERDICT,
	STP_NF_NSLOTS,
};

static unsigned int stp_netfilter_hook(void *priv, struct sk_buff *skb,
				       const struct nf_hook_state *state)
{
	struct stp_netfilter *p = priv;
	int verdict = NF_ACCEPT;
	unsigned long args[STP_NF_NSLOTS];

	args[STP_NF_HOOKNUM] = state->hook;
	args[STP_NF_SKB] = (unsigned long)skb;
	args[STP_NF_IN] = (unsigned long)state->in;
	args[STP_NF_OUT] = (unsigned long)state->out;
	args[STP_NF_VERDICT] = (unsigned long)&verdict;
	stp_probe_run_args(p->probe, STP_RUNNING, args);
	switch (verdict & NF_VERDICT_MASK) {
	case NF_DROP:
	case NF_ACCEPT:
	case NF_QUEUE:
		return (unsigned int)verdict;
	default:
		return NF_ACCEPT;
	}
}
#endif

static void stp_netfilters_unregister(struct stp_netfilter *ps, int n)
{
#ifdef CONFIG_NETFILTER
	bool any = false;
	int i;

	for (i = 0; i < n; i++) {
		if (!ps[i].registered)
			continue;
		nf_unregister_net_hook(&init_net, &ps[i].ops);
		ps[i].registered = false;
		any = true;
	}
	/* No hook function may still be running once this returns. */
	if (any)
		synchronize_net();
#endif
}

/* Registers every point, counting into *count. */
static void stp_netfilters_register(struct stp_netfilter *ps, int n, struct stp_reg_count *count)
{
	int i, rc;

	for (i = 0; i < n; i++) {
		struct stp_netfilter *p = &ps[i];

#ifdef CONFIG_NETFILTER
		memset(&p->ops, 0, sizeof(p->ops));
		p->ops.hook = stp_netfilter_hook;
		p->ops.priv = p;
		p->ops.pf = p->pf;
		p->ops.hooknum = p->hooknum;
		p->ops.priority = p->priority;
		rc = nf_register_net_hook(&init_net, &p->ops);
#else
		rc = -ENOSYS;
#endif
		stp_reg_count_note(count, p->probe, p->optional, rc);
		if (rc == 0)
			p->registered = true;
	}
}
