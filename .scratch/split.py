import re, sys

def match_brace(s, i):
    """s[i] == '{' -> index after matching '}'"""
    depth=0
    while i < len(s):
        c=s[i]
        if c=='{': depth+=1
        elif c=='}':
            depth-=1
            if depth==0: return i+1
        i+=1
    raise ValueError

def match_paren(s, i):
    depth=0
    while i < len(s):
        c=s[i]
        if c=='(': depth+=1
        elif c==')':
            depth-=1
            if depth==0: return i+1
        i+=1
    raise ValueError

def methods(impl_body):
    out=[]
    for m in re.finditer(r"\n    async fn (\w+)\(\s*&self,\s*request: Request<(.*?)>,\s*\) -> (?:Result<Response<(.*?)>, Status>|RpcResult<(.*?)>)\s*\{", impl_body, re.S):
        start=m.end()-1
        end=match_brace(impl_body,start)
        out.append((m.group(1), m.group(2).strip(), (m.group(3) or m.group(4)).strip(), impl_body[start+1:end-1]))
    return out

def unwrap_ok_response(body):
    while True:
        i=body.find("Ok(Response::new(")
        if i<0: return body
        j=i+len("Ok(Response::new")
        end=match_paren(body,j)
        inner=body[j+1:end-1]
        body=body[:i]+"Ok("+inner+body[end:]

def transform(name, req_t, resp_t, body, self_helpers):
    mode=None
    lines=body.split("\n")
    keep=[]
    for line in lines:
        t=line.strip()
        if t=="let user = caller(&request)?.user()?.clone();": mode="user"; continue
        if t=="caller(&request)?;": mode="caller"; continue
        if t=="let caller = caller(&request)?.clone();": mode="usercaller"; continue
        if t=="let user = caller.user()?.clone();" and mode=="usercaller": continue
        if t=="let req = request.into_inner();": continue
        keep.append(line)
    body="\n".join(keep)
    if mode is None:
        m=re.search(r"let user = caller\(&request\)\?\.user\(\)\?\.clone\(\);", body)
        raise SystemExit(f"no caller line in {name}")
    body=body.replace("request.into_inner()","req").replace("request.get_ref()","req")
    body=body.replace("self.state.pool.get().await.map_err(ApiError::from)?","state.conn().await?")
    body=body.replace("self.conn().await?","state.conn().await?")
    body=body.replace("&self.state","state").replace("self.state","state")
    for h in self_helpers:
        body=body.replace(f"self.{h}(", f"{h}(state, ")
    body=unwrap_ok_response(body)
    body=re.sub(r"(return Err\((?:.|\n)*?)\.into\(\)\);", r"\1);", body)
    # dedent 4
    body="\n".join(l[4:] if l.startswith("    ") else l for l in body.split("\n"))
    params={"user":"state: &AppState, user: UserId, req: "+req_t,"caller":"state: &AppState, req: "+req_t,"usercaller":"state: &AppState, caller: Caller, user: UserId, req: "+req_t}[mode]
    return mode, params, body

if __name__=="__main__":
    pass
