num_pes: 1024
l1_size_cstr: 1024
l2_size_cstr: 1048576
noc_bw_cstr: 64
offchip_bw_cstr: 32
