import re, sys
sys.path.insert(0,'.scratch')
from split import *
src=open('src/workshop/mod.rs').read()
brace=src.index("{", src.index("impl WorkshopRpc for WorkshopService"))
impl_end=match_brace(src, brace)
impl_body=src[brace+1:impl_end-1]
rest=src[impl_end:]
ms=methods(impl_body)
mapping={
 'create_workshop':('workshops','create'),'get_workshop':('workshops','get'),'list_workshops':('workshops','list'),'update_workshop':('workshops','update'),'delete_workshop':('workshops','delete'),'share_workshop':('workshops','share'),'get_shared_workshop':('workshops','get_shared'),
 'add_member':('members','add'),'update_member':('members','update'),'remove_member':('members','remove'),'list_members':('members','list'),
 'list_step_definitions':('steps','list_definitions'),'get_workshop_step':('steps','get'),'list_workshop_steps':('steps','list'),'update_workshop_step':('steps','update'),
 'list_sessions':('sessions','list'),'end_session':('sessions','end'),
 'create_build_pack':('build_packs','create'),'get_build_pack':('build_packs','get'),'list_build_packs':('build_packs','list'),'read_build_pack_content':('build_packs','read_content'),
}
files={}
forwarders=[]
for name, req_t, resp_t, body in ms:
    f, fn = mapping[name]
    mode, params, newbody = transform(name, req_t, resp_t, body, ['readable_pack','step_change'])
    files.setdefault(f,[]).append(f"pub async fn {fn}({params}) -> ApiResult<{resp_t}> {{{newbody}}}\n")
    call = {"user":f"|user, req| {f}::{fn}(&self.state, user, req)","caller":f"|req| {f}::{fn}(&self.state, req)","usercaller":f"|caller, user, req| {f}::{fn}(&self.state, caller, user, req)"}[mode]
    helper = {"user":"for_user","caller":"for_caller","usercaller":"for_user_with_caller"}[mode]
    forwarders.append(f"""    async fn {name}(
        &self,
        request: Request<{req_t}>,
    ) -> Result<Response<{resp_t}>, Status> {{
        rpc::{helper}(request, {call}).await
    }}
""")
for f,items in files.items():
    open(f'.scratch/ws_{f}.rs','w').write("\n".join(items))
open('.scratch/ws_service.rs','w').write("\n".join(forwarders))
open('.scratch/ws_rest.rs','w').write(rest)
print(sorted(files))
