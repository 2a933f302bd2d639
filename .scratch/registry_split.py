import re, sys
sys.path.insert(0,'.scratch')
from split import *
src=open('src/registry/mod.rs').read()
impl_start=src.index("#[tonic::async_trait]\nimpl SkillRegistry for RegistryService {")
brace=src.index("{", src.index("impl SkillRegistry for RegistryService"))
impl_end=match_brace(src, brace)
impl_body=src[brace+1:impl_end-1]
rest=src[impl_end:]
ms=methods(impl_body)
mapping={
 'create_skill':('skills','create'),'get_skill':('skills','get'),'list_skills':('skills','list'),'update_skill':('skills','update'),'delete_skill':('skills','delete'),
 'create_skill_version':('versions','create'),'upload_skill_version':('versions','upload'),'get_skill_version':('versions','get'),'list_skill_versions':('versions','list'),'read_skill_version_content':('versions','read_content'),'publish_skill_version':('versions','publish'),
 'rate_skill':('ratings','rate'),'list_ratings':('ratings','list'),
 'record_usage':('usage','record'),'batch_record_usage':('usage','record_batch'),
}
files={k:[] for k in ['skills','versions','ratings','usage']}
forwarders=[]
for name, req_t, resp_t, body in ms:
    f, fn = mapping[name]
    mode, params, newbody = transform(name, req_t, resp_t, body, [])
    files[f].append(f"pub async fn {fn}({params}) -> ApiResult<{resp_t}> {{{newbody}}}\n")
    call = f"|user, req| {f}::{fn}(&self.state, user, req)" if mode=="user" else f"|req| {f}::{fn}(&self.state, req)"
    helper = "for_user" if mode=="user" else "for_caller"
    forwarders.append(f"""    async fn {name}(
        &self,
        request: Request<{req_t}>,
    ) -> Result<Response<{resp_t}>, Status> {{
        rpc::{helper}(request, {call}).await
    }}
""")
# helpers in rest: split by top-level items
def item(name_pat):
    m=re.search(name_pat, rest)
    return m
open('.scratch/reg_rest.rs','w').write(rest)
for f,items in files.items():
    open(f'.scratch/reg_{f}.rs','w').write("\n".join(items))
open('.scratch/reg_service.rs','w').write("\n".join(forwarders))
print([ (n, mapping[n]) for n,_,_,_ in ms])
